write_readme() { echo "# demo (stub)"; }
