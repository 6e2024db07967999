"""Local fake servers that real client libraries (tweepy, googleapiclient, requests) talk HTTP to."""
