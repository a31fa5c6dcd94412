"""netdex: what each container networking mode costs on this host.

Brings up each lab (topology/*.toml) in turn, measures between two endpoints of that mode
(TCP throughput with iperf3, small TCP round trips, connection setup rate, CPU per Gbit/s),
tears the lab down again (also on Ctrl-C and SIGTERM), and compares every mode with host mode.
"""
