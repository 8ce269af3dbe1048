"""The implementation of `crossflow.diagram`: crossflow's JSON diagrams, loaded, checked,
built into workflows and described for editors.

Modules, in the order they depend on each other:

* `_problems`: `Problem`, `DiagramError`, `ImplicitCancel`, JSON pointers and "did you
  mean" suggestions;
* `_types`: declared Python types as JSON: conversion both ways and JSON Schemas;
* `_records`: the document read into records, with every structural problem;
* `_cel`: `transform` expressions, through the optional CEL extra;
* `_registry`: node and section builders, and `Section`;
* `_metadata`: the registry described in crossflow's metadata format;
* `_layout`: the diagram resolved against a registry: scopes, operations, links;
* `_build`: the layout built into a `crossflow.Workflow` with the public builder API;
* `_reach`: why a scope can never finish, or what nothing reaches, in the diagram's terms;
* `_diagram`: the `Diagram` class users hold;
* `_standins`: stand-ins for the builders a diagram names, to draw it without them.
"""
