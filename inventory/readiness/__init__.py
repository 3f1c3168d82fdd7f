"""The VC-readiness board: which offices can join the District Magistrate's VC."""
