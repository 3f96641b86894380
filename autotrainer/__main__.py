"""`python -m autotrainer` is the same as the `autotrainer` command."""

from autotrainer.cli import main

if __name__ == "__main__":
    main()
