"""Runners: where :meth:`fastjoin.pipeline.Pipeline.process` runs. Each has
``ordered(fn, items)``: ``fn`` on every item, results (or their errors) yielded in input order.
:class:`~fastjoin.runners.local.LocalRunner` is the in-process thread pool."""
