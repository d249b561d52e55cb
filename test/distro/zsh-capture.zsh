# capture.zsh FPATHDIR LINE...: for each command LINE (its last word, maybe empty, is the one being
# completed) a line `== LINE`, then the matches zsh's completion offers, one per line. zsh runs
# interactively in a pseudo-terminal (zpty); compadd is wrapped to print what it adds.
zmodload zsh/zpty || exit 3
fp=$1; shift
zpty z zsh -f -i
zpty -w z "PS1=''; RPROMPT=''; fpath=($fp \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "compadd() { if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd \"\$@\"; return; fi; local -a __m; builtin compadd -A __m \"\$@\"; print -r -- \$'\\n'\"<<ma\"\"tch>>\"\${^__m}; builtin compadd \"\$@\"; }"
zpty -w z "_capture() { zle complete-word; print -r -- \$'\\n<<do'\$'ne>>' }; zle -N capture _capture"
zpty -w z "zstyle ':completion:*' insert-tab false; bindkey '^I' capture; bindkey '^U' kill-whole-line"
for cmdline in "$@"; do
	zpty -w -n z "$cmdline"$'\t'
	out=
	integer tries=0
	while ((tries < 600)); do
		if zpty -r -t z line; then out+=$line; else ((tries++)); sleep 0.05; fi
		[[ $out == *'<<done>>'* ]] && break
	done
	print -r -- "== $cmdline"
	print -r -- $out | tr -d '\r' | sed -n 's/^<<match>>//p' | sed 's/ *$//' | sort -u
	zpty -w -n z $'\C-u'
done
zpty -d z
