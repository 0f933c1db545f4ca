-- The privacy notice (issue 17): registration shows what the club keeps and why on the step
-- that asks for the phone number; the moment the person went on to share their number after
-- it is recorded here with the notice's text as shown (in the language it was shown in), and
-- their copy of their data ("Download my data") lists it under consents. Members registered
-- before the notice was shown (or created by staff or the demo) have none.
ALTER TABLE members ADD COLUMN privacy_notice_at timestamptz;
ALTER TABLE members ADD COLUMN privacy_notice text;
