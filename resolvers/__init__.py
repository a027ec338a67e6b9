"""GraphQL glue: read the arguments, call a use case or a loader, map the result."""
