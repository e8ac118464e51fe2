"""Reports: aggregate views of survey responses and referrals, and their charts."""
