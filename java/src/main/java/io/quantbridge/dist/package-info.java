/**
 * Jobs past one process: {@link io.quantbridge.dist.DistributedLauncher} starts the ranks of a
 * {@code calibrate} or {@code train} job through torch's own launcher ({@code torch.distributed.run}),
 * one JVM per rank running {@code io.quantbridge.dist.RankMain} (in the command-line artifact), which runs the same command-line
 * job as the in-process path. {@link io.quantbridge.dist.Ranks} is what the job code asks about
 * its rank: start the process group, wait for every rank, write only on rank 0.
 */
package io.quantbridge.dist;
