// SPDX-License-Identifier: GPL-2.0-or-later
// Prints the failed tests of bun's JUnit reports (scripts/test.sh writes one per suite), each with
// its message, at the end of the run: a CI log is often read from its tail only, and bun prints a
// failure's details where the test ran (minutes of output earlier), at the end just its name.
//
//   bun scripts/test-failures.ts REPORT.xml...   (exit 0; prints nothing when nothing failed)
import { existsSync, readFileSync } from 'node:fs';

/** lines of one failure's message kept: enough for an expect() diff or a console tail */
const MAX_LINES = 60;

export interface Failure {
  file: string;
  name: string;
  message: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return ENTITIES[e] ?? whole;
  });
}

/**
 * The failed test cases of one JUnit XML text (bun's: nested <testsuite> elements, the outermost
 * per file, then one per describe(); a <failure> element inside a failed <testcase>). The name is
 * the describe() path from the nesting (bun's classname lists it innermost first).
 */
export function junitFailures(xml: string): Failure[] {
  const out: Failure[] = [];
  const suites: string[] = [];
  const attr = (attrs: string, name: string) => unescapeXml(new RegExp(`\\b${name}="([^"]*)"`).exec(attrs)?.[1] ?? '');
  const tags = /<testsuite\b([^>]*?)(\/?)>|<\/testsuite>|<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(tags)) {
    if (m[0] === '</testsuite>') suites.pop();
    else if (m[1] !== undefined) {
      if (m[2] !== '/') suites.push(attr(m[1], 'name'));
    } else {
      const failure = /<failure\b([^>]*?)(?:\/>|>([\s\S]*?)<\/failure>)/.exec(m[4] ?? '');
      if (!failure) continue;
      // suites[0] is the file's own
      out.push({ file: attr(m[3]!, 'file'), name: [...suites.slice(1), attr(m[3]!, 'name')].join(' > '), message: failure[2] !== undefined ? unescapeXml(failure[2]) : attr(failure[1]!, 'message') });
    }
  }
  return out;
}

export function formatFailure(f: Failure): string {
  const lines = f.message.trimEnd().split('\n');
  const kept = lines.length > MAX_LINES ? [...lines.slice(0, MAX_LINES), `… (${lines.length - MAX_LINES} more lines)`] : lines;
  return [`(fail) ${f.file}: ${f.name}`, ...kept.map((l) => `    ${l}`)].join('\n');
}

if (import.meta.main) {
  const failures = process.argv.slice(2).filter(existsSync).flatMap((p) => junitFailures(readFileSync(p, 'utf8')));
  if (failures.length > 0) {
    console.log(`\n=== ${failures.length} failed test(s), with their messages`);
    for (const f of failures) console.log(`${formatFailure(f)}\n`);
  }
}
