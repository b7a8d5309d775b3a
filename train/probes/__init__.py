"""Measurements of a checkpoint or of the training data, not needed to build the weights: MTP acceptance (mtp_accept),
argument reading (probe_units), copying (probe_copy, copy_task), token shares per source (data_shares)."""
