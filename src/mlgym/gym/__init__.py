"""The gym: one experiment's job (build the graph, train, evaluate, checkpoint) and its trainer and evaluator."""
