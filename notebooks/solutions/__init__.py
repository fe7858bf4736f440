"""Reference solutions to the notebooks' exercises: ``solutions/chNN.py``'s ``exercise_N_K``.

They are for teachers and for the test suite, not for the student edition (book/release.py
leaves them out of it). A notebook's check cell calls ``tinygan.course.exercise``, which
checks an answer against a reference computed with tinygan at check time; with
``TINYGAN_SOLUTIONS=1`` and this folder's parent on the path (the notebooks' own folder), it
fills an unanswered exercise (``...``) with the solution here, so that the test suite runs
every check against these solutions.
"""
