"""Projectors over PJLink, VC endpoints: reachability and test calls."""
