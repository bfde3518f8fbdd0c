"""tantieme: fair, verifiable AI.

Local models answer from works whose creators consented, every answer is
attributed and paid for on chain, and every interaction is anchored.
"""

__version__ = "0.1.0"
