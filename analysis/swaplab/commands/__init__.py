"""One module per CLI verb: each defines ``HELP``, ``add_arguments(parser)`` and ``run(args)``.

Modules import their heavy dependencies inside ``run`` so that ``swaplab --help`` stays fast.
"""
