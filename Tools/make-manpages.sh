#!/usr/bin/env bash
# Regenerates Docs/man/*.1 from the executables' own --help (swift-argument-parser's
# generate-manual plugin), so the manual pages never drift from the commands. Run after changing
# an option; the date is fixed so a rerun without changes changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
swift package --allow-writing-to-package-directory generate-manual --multi-page --date 2026-11-27 >/dev/null
mkdir -p Docs/man
cp .build/plugins/GenerateManual/outputs/*/*.1 Docs/man/
rm -f Docs/man/*.help.1  # the help subcommand's page says nothing
ls Docs/man
