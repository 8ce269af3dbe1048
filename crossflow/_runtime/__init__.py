"""The runtime: the only part of crossflow that runs sessions and awaits anything."""
