"""The published pair on disk: stage, verify, publish atomically, back up, restore; manifests."""
