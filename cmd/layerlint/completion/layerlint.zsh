#compdef layerlint
# zsh completion for layerlint, from `layerlint completion zsh`.
# The candidates come from the command tree itself: the function runs
# `layerlint … --generate-bash-completion` for the words typed so far.
_layerlint() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
if [[ "$funcstack[1]" == "_layerlint" ]]; then
  _layerlint "$@"
else
  compdef _layerlint layerlint
fi
