"""The `onboard` command: the demo, the sandbox, `serve`, `simulate`, `kpi`, and the simulated people
(staff answering approvals, clients filling in forms) the demo and the simulation use."""
