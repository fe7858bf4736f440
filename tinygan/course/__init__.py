"""The course's exercises: ``from tinygan.course import exercise`` in every notebook.

- exercise.py: ``exercise(number, answer, **context)``, the call each check cell makes;
- checks.py: one check per exercise, computing its reference with tinygan at check time;
- feedback.py: ``WrongAnswer`` and the comparisons that say what is wrong without the answer.

A notebook needs nothing but ``pip install tinygan``: the checks ship with the package, the
reference solutions do not (they are in the repository's notebooks/solutions/ and in the
instructor edition that ``python book/release.py`` builds).
"""
from tinygan.course.exercise import exercise
from tinygan.course.feedback import WrongAnswer

__all__ = ["exercise", "WrongAnswer"]
