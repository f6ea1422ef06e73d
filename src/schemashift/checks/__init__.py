"""Checks that read a project's migrations without trusting them: plan, lint, refusal."""
