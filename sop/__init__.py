"""The SOP's own rules, pure: the new client, the company profile, qualification and the service
catalogue, the project plan, meeting slots, client ids, the engagement timeline and the KPIs.
Nothing here imports Prefect or a vendor SDK."""
