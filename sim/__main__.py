"""``python -m sim``: the same as the ``pointsim`` command."""

from sim.cli import main

if __name__ == "__main__":
    main(prog_name="pointsim")
