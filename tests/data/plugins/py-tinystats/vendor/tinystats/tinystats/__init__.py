"""tinystats: the mean and the sum of squared deviations of a list."""


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def sum_sq_dev(xs):
    m = mean(xs)
    return sum((x - m) ** 2 for x in xs)
