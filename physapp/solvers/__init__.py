"""Reference finite-element solvers (scikit-fem assembly, pyamg-preconditioned CG)."""
