"""City sensors: rain gauges and water levels, their readings, and the threshold rules that raise local alerts."""
