"""Rendering a validated spec into a project: context, templates, formatting, safe writes."""
