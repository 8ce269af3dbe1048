"""Pictures of workflows and of their runs, drawn by crossflow itself (API §8).

Everything here reads the public graph model (`crossflow._model`) and the event log
(`crossflow.events`); nothing imports the runtime. One concept per module:

* `_labels`: what each operation, port and cleanup workflow is called in a picture;
* `_mermaid`, `_dot`: the text forms;
* `_layout`: crossflow's own layered layout, with nested scopes as boxes;
* `_svg`: the SVG drawn from a layout;
* `_trace`: what a run did, per operation, read from its events (the run overlay);
* `_cause_tree`: a cancellation as a bounded tree of causes and disposals;
* `_html`, `_timeline`: tables, trees and the timeline of an event log;
* `_progress`: `cf.Progress`, the snapshot a progress display reads;
* `_terminal`, `_live`: a progress line on a terminal, a display updated in a notebook;
* `_bundle`, `_display`: the notebook mime bundles of workflows, sessions, cancellations
  and logs; values below the pictures find theirs in `crossflow._display`, filled here.
"""
