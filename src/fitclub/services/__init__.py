"""The club's rules: plain functions over the caller's transaction, no Telegram types.

Handlers, scheduled jobs and tests call the same functions. Each takes a psycopg2 connection
(the update's or the job's) and returns named rows or small result types.
"""
