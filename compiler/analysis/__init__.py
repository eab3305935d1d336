"""Analysis of compiled networks: activity records, operation counts, resources, energy."""
