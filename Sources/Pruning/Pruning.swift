// Pruning
