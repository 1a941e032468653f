"""The method's fixed choices, named once: how many prototypes a class has and how they can be chosen."""

# Each class is represented by 4 prototype sequences, and its generator's input is a one-hot vector over
# them given at the first time step, so the generator's input width is this number too.
PROTOTYPES_PER_CLASS = 4

# How a subset's prototypes are selected: k-means clusters within the class, or training samples at random.
SELECTIONS = ("clustered", "random")
# What stands for a cluster: the mean of its members, the DTW barycenter (DBA) or the medoid.
REPRESENTATIONS = ("mean", "dba", "medoid")
# The clustering distance.
METRICS = ("euclidean", "dtw")
