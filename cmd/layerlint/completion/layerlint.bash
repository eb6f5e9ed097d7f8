# bash completion for layerlint, from `layerlint completion bash`.
# The candidates come from the command tree itself: the function runs
# `layerlint … --generate-bash-completion` for the words typed so far.
_layerlint_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local opts
  if [[ "$cur" == -* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  local IFS=$'\n'
  # shellcheck disable=SC2207 # compgen prints one candidate a line
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _layerlint_complete layerlint
