"""`python -m reference_impl` runs the same CLI as `byok-ref`."""

from reference_impl.cli import main

main()
