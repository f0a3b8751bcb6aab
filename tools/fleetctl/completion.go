package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionCommand prints a shell completion script. The scripts call
// fleetctl with urfave/cli's --generate-bash-completion flag, which lists
// the commands and flags that may come next.
func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: `Load it into the current shell:
   source <(fleetctl completion bash)
   source <(fleetctl completion zsh)
   fleetctl completion fish | source`,
		Action: func(c *cli.Context) error {
			shell, err := oneArg(c, "bash|zsh|fish")
			if err != nil {
				return err
			}
			switch shell {
			case "bash":
				_, err = fmt.Fprint(c.App.Writer, strings.ReplaceAll(bashCompletion, "PROG", c.App.Name))
			case "zsh":
				_, err = fmt.Fprint(c.App.Writer, strings.ReplaceAll(zshCompletion, "PROG", c.App.Name))
			case "fish":
				var script string
				if script, err = c.App.ToFishCompletion(); err == nil {
					_, err = fmt.Fprint(c.App.Writer, script)
				}
			default:
				return usageErrorf("no completion for shell %q; use bash, zsh or fish", shell)
			}
			return err
		},
	}
}

// bashCompletion is urfave/cli's bash completion script for PROG.
const bashCompletion = `# bash completion for PROG
_PROG_complete() {
  local cur opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == "-"* ]]; then
    opts=$( "${COMP_WORDS[@]:0:$COMP_CWORD}" "${cur}" --generate-bash-completion 2>/dev/null )
  else
    opts=$( "${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null )
  fi
  COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
  return 0
}
complete -o bashdefault -o default -F _PROG_complete PROG
`

// zshCompletion is urfave/cli's zsh completion script for PROG.
const zshCompletion = `#compdef PROG
_PROG_complete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
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
compdef _PROG_complete PROG
`
