"""`hubmine evaluate`: re-measure the performance a card claims by running the model on the claimed dataset."""
