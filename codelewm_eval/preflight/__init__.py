"""`preflight`: before any GPU is spent, can this pack (and job spec) carry the gates?"""
