"""`hubmine evaluate`: re-measure what a card claims by running the model on the claimed dataset."""
