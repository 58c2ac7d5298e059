"""Policy test cases (YAML) run by `railyard rails test`; a package only so they ship."""
