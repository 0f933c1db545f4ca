"""The bot's scheduled work, one module per feature, beside the handlers.

Each module registers its kinds with `fitclub.runtime.jobs.register` and is listed in
`kinds.MODULES`, which the app imports so the registrations run. The machinery that stores,
takes and runs jobs is `fitclub.runtime.jobs`.
"""
