#!/usr/bin/env bash
# Usage: mk/prerequisites.sh TARGET TOOL...   (TOOL: python uv node terraform chromium firefox webkit)
#
# Checks that the tools TARGET needs are on this machine, before anything runs. Prints nothing
# when they are; otherwise one message naming every missing tool and how to get it, and exits 2.
# uv counts as present when pip can install it (the Makefile's `uv` step does that).
# Nothing is installed here: CI (.ci/run) installs the three browsers with apt-get when it runs
# as root.
set -uo pipefail

target=$1
shift
missing=()

has() { command -v "$1" >/dev/null 2>&1; }

python_ok() {
	if has uv && uv python find 3.11 >/dev/null 2>&1; then return 0; fi
	if has python3.11; then return 0; fi
	has python3 && python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null
}

uv_ok() {
	has uv && return 0
	has python3 || return 1
	python3 -m uv --version >/dev/null 2>&1 || python3 -m pip --version >/dev/null 2>&1
}

node_ok() {
	has node && has npm || return 1
	local major
	major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
	[[ $major =~ ^[0-9]+$ ]] && ((major >= 20))
}

chromium_ok() {
	if [[ -n ${CHROMIUM_PATH:-} ]]; then
		[[ -x $CHROMIUM_PATH ]]
		return
	fi
	has chromium || has chromium-browser || has google-chrome || has google-chrome-stable
}

firefox_ok() {
	if [[ -n ${FIREFOX_PATH:-} ]]; then
		[[ -x $FIREFOX_PATH ]]
		return
	fi
	has firefox-esr
}

# WebKitWebDriver and its MiniBrowser (webkit2gtk-driver), and Xvfb unless there is a display.
webkit_ok() {
	has WebKitWebDriver || return 1
	[[ -x ${WEBKIT_MINIBROWSER:-/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser} ]] || return 1
	[[ -n ${DISPLAY:-} ]] || has xvfb-run
}

for tool in "$@"; do
	case $tool in
	python)
		python_ok || missing+=("Python 3.11: python3.11 on PATH (apt-get install python3.11, pyenv install 3.11), or \`uv python install 3.11\`")
		;;
	uv)
		uv_ok || missing+=("uv (and no pip to install it with): python3 -m pip install uv, or https://docs.astral.sh/uv/getting-started/installation/")
		;;
	node)
		node_ok || missing+=("Node.js 20 or newer with npm: https://nodejs.org/en/download (or your package manager's nodejs and npm)")
		;;
	terraform)
		has terraform || missing+=("terraform: https://developer.hashicorp.com/terraform/install (HashiCorp's apt repository on Debian/Ubuntu)")
		;;
	chromium)
		if ! chromium_ok; then
			if [[ -n ${CHROMIUM_PATH:-} ]]; then
				missing+=("chromium: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable; point it at Chromium or Chrome, or unset it")
			else
				missing+=("chromium (none of chromium, chromium-browser, google-chrome on PATH): apt-get install chromium, or set CHROMIUM_PATH to a Chromium or Chrome binary")
			fi
		fi
		;;
	firefox)
		firefox_ok || missing+=("firefox (Firefox ESR for the browser tests): apt-get install firefox-esr, or set FIREFOX_PATH to a Firefox binary")
		;;
	webkit)
		webkit_ok || missing+=("WebKit (WebKitWebDriver, MiniBrowser, Xvfb) for the browser tests: apt-get install webkit2gtk-driver xvfb (WEBKIT_MINIBROWSER names another MiniBrowser)")
		;;
	*)
		echo "mk/prerequisites.sh: unknown tool '$tool'" >&2
		exit 64
		;;
	esac
done

if ((${#missing[@]})); then
	{
		echo "make $target cannot run: this machine lacks"
		for line in "${missing[@]}"; do echo "  - $line"; done
		echo "The devcontainer (.devcontainer/devcontainer.json) has all of them."
	} >&2
	exit 2
fi
