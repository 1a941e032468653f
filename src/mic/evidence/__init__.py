"""Evidence: per-job scores, the tidy tables, model choice and the statistics over them."""
