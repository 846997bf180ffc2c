"""From check outcomes to a verdict: score and grade with named caps, waivers, views, and the CI gate.

Everything here is pure: the clock ("today", for waiver expiry) is a parameter.
"""
