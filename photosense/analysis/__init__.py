"""Analyses that look at a photo's pixels beyond its vector: faces, text.

Each analysis is an :class:`~photosense.analysis.base.Analyser`; the runner decodes every photo
that one or more analyses have not seen once, runs them on worker threads, and saves their results
in batches, so the work resumes where it stopped and is redone only for changed files.
"""
