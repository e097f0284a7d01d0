"""`hubmine risks`: the network measures of model risk (the Hub's scan results, a static pickle scan,
commit signatures, maintainers) for a chosen set of models."""
