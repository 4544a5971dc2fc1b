-- Demo producer database for Herald (SQLite). Invented people, groups,
-- devices and Issue Card requests, plus the views the standard mapping files
-- in mappings/ read. Herald only ever reads this database. The outbox table
-- is not here: create it with config/outbox.sql.
--
--   sqlite3 demo.db < config/demo/producer.sql && sqlite3 demo.db < config/outbox.sql
--
-- Conventions borrowed from identity-management products: object IDs are
-- GUIDs stored in braces ('{...}'); dates are SQLite date text; enabled
-- flags are 0/1.
PRAGMA foreign_keys = ON;

BEGIN;

CREATE TABLE groups (
  GroupID       INTEGER PRIMARY KEY,
  ObjectID      TEXT NOT NULL UNIQUE,              -- '{GUID}'
  Name          TEXT NOT NULL,
  ParentGroupID INTEGER NULL REFERENCES groups (GroupID)
);

CREATE TABLE people (
  PersonID          INTEGER PRIMARY KEY,           -- the event key PersonID
  ObjectID          TEXT NOT NULL UNIQUE,          -- '{GUID}'
  LogonName         TEXT NOT NULL UNIQUE,
  FirstName         TEXT NOT NULL,
  Surname           TEXT NOT NULL,
  Email             TEXT NULL,
  EmployeeID        TEXT NULL,                     -- employee ID / security number
  GroupID           INTEGER NOT NULL REFERENCES groups (GroupID),
  ManagerID         INTEGER NULL REFERENCES people (PersonID),
  DistinguishedName TEXT NULL,
  Domain            TEXT NULL,
  SAMAccountName    TEXT NULL,
  UPN               TEXT NULL,
  Photo             BLOB NULL,                     -- image bytes (PNG)
  Enabled           INTEGER NOT NULL DEFAULT 1 CHECK (Enabled IN (0, 1)),
  Deleted           INTEGER NOT NULL DEFAULT 0 CHECK (Deleted IN (0, 1)),  -- soft delete: rows stay
  CreatedAt         TEXT NOT NULL DEFAULT (datetime('now'))
);

CREATE TABLE devices (
  DeviceID        INTEGER PRIMARY KEY,             -- the event key DeviceID
  ObjectID        TEXT NOT NULL UNIQUE,            -- '{GUID}'
  SerialNumber    TEXT NOT NULL,
  DeviceType      TEXT NOT NULL,
  IssueDate       TEXT NULL,                       -- SQLite date text
  ExpiryDate      TEXT NULL,
  Enabled         INTEGER NOT NULL DEFAULT 1 CHECK (Enabled IN (0, 1)),
  Status          TEXT NOT NULL,                   -- Active, Disabled, Cancelled
  HIDLoopID       INTEGER NULL,                    -- HID card number on the access loop
  HIDFacilityCode INTEGER NULL,
  OwnerPersonID   INTEGER NULL REFERENCES people (PersonID)  -- NULL once cancelled
);

CREATE TABLE credential_profiles (
  ProfileID INTEGER PRIMARY KEY,
  ObjectID  TEXT NOT NULL UNIQUE,                  -- '{GUID}'
  Name      TEXT NOT NULL
);

-- Requests are jobs; RequestID is the event key JobID.
CREATE TABLE requests (
  RequestID INTEGER PRIMARY KEY,
  ObjectID  TEXT NOT NULL UNIQUE,                  -- '{GUID}'
  JobType   TEXT NOT NULL,                         -- 'IssueCard', ...
  Status    TEXT NOT NULL,                         -- 'Awaiting Issue', 'Completed', ...
  PersonID  INTEGER NOT NULL REFERENCES people (PersonID),
  DeviceID  INTEGER NULL REFERENCES devices (DeviceID),
  ProfileID INTEGER NOT NULL REFERENCES credential_profiles (ProfileID),
  CreatedAt TEXT NOT NULL
);

-- People with their group and account details. Enabled is text ('0'/'1'),
-- the form the person notifications carry.
CREATE VIEW vPeopleUserAccounts AS
SELECT p.PersonID,
       p.ObjectID,
       p.LogonName,
       p.FirstName,
       p.Surname,
       p.FirstName || ' ' || p.Surname AS FullName,
       p.Email,
       p.EmployeeID,
       p.GroupID,
       g.ObjectID AS GroupObjectID,
       g.Name AS GroupName,
       m.ObjectID AS ManagerObjectID,
       p.DistinguishedName,
       p.Domain,
       p.SAMAccountName,
       p.UPN,
       p.Photo,
       CAST(p.Enabled AS TEXT) AS Enabled,
       p.Deleted,
       p.CreatedAt
  FROM people p
  JOIN groups g ON g.GroupID = p.GroupID
  LEFT JOIN people m ON m.PersonID = p.ManagerID;

-- Devices with their current owner. The HID numbers are text, as the
-- device notifications carry them.
CREATE VIEW vDevices AS
SELECT d.DeviceID,
       d.ObjectID,
       d.SerialNumber,
       d.DeviceType,
       d.IssueDate,
       d.ExpiryDate,
       d.Enabled,
       d.Status,
       CAST(d.HIDLoopID AS TEXT) AS HIDLoopID,
       CAST(d.HIDFacilityCode AS TEXT) AS HIDFacilityCode,
       d.OwnerPersonID,
       o.ObjectID AS OwnerObjectID,
       o.LogonName AS OwnerLogonName
  FROM devices d
  LEFT JOIN people o ON o.PersonID = d.OwnerPersonID;

-- Requests with their target person and credential profile.
CREATE VIEW vRequests AS
SELECT r.RequestID,
       r.ObjectID,
       r.JobType,
       r.Status,
       r.CreatedAt AS InitiationDate,
       r.PersonID AS TargetPersonID,
       t.ObjectID AS TargetObjectID,
       t.FirstName || ' ' || t.Surname AS TargetName,
       t.LogonName AS TargetLogonName,
       r.DeviceID,
       c.ObjectID AS CredProfileObjectID,
       c.Name AS CredProfileName
  FROM requests r
  JOIN people t ON t.PersonID = r.PersonID
  JOIN credential_profiles c ON c.ProfileID = r.ProfileID;

INSERT INTO groups (GroupID, ObjectID, Name, ParentGroupID) VALUES
  (1, '{2E1DEFBA-FCC2-4660-85A3-5630D91BD8C8}', 'Corporate', NULL),
  (2, '{BEEF32AF-8040-4159-B1F3-798EFDB0D2FE}', 'Facilities', 1),
  (3, '{0C1CA393-1943-4062-BB49-D4E61290703C}', 'Security Office', 1);

INSERT INTO people (PersonID, ObjectID, LogonName, FirstName, Surname, Email, EmployeeID, GroupID, ManagerID,
                    DistinguishedName, Domain, SAMAccountName, UPN, Photo, Enabled, Deleted, CreatedAt) VALUES
  (1, '{F9CBC5EE-5CA9-4E5F-9B0D-5ACF5101726C}', 'hnakamura', 'Hana', 'Nakamura', 'hana.nakamura@example.com',
   'EMP-10041', 3, NULL, 'CN=Hana Nakamura,OU=Security Office,DC=corp,DC=example,DC=com', 'CORP', 'hnakamura',
   'hnakamura@corp.example.com',
   X'89504E470D0A1A0A0000000D4948445200000001000000010802000000907753DE0000000C49444154789C63D0CADF02000214014E575C9B750000000049454E44AE426082',
   1, 0, '2023-11-02 08:12:40'),
  (2, '{DC723550-43C9-48A1-A5F0-9E3B0AF2FB15}', 'obrennan', 'Owen', 'Brennan', 'owen.brennan@example.com',
   'EMP-10057', 2, 1, 'CN=Owen Brennan,OU=Facilities,DC=corp,DC=example,DC=com', 'CORP', 'obrennan',
   'obrennan@corp.example.com', NULL, 1, 0, '2023-11-02 08:20:05'),
  (3, '{92EA4783-F9A1-4FE9-B3F0-FBFFA26FACCC}', 'zachterberg', 'Zoë', 'Achterberg', 'zoe.achterberg@example.com',
   'EMP-10112', 2, 2, 'CN=Zoë Achterberg,OU=Facilities,DC=corp,DC=example,DC=com', 'CORP', 'zachterberg',
   'zachterberg@corp.example.com', NULL, 1, 0, '2025-02-27 13:01:55'),
  (4, '{BC4F74F1-AA8A-49EA-A04C-678D6D5D1BE3}', 'rmensah', 'Rafael', 'Mensah', 'rafael.mensah@example.com',
   'EMP-10120', 1, 1, 'CN=Rafael Mensah,OU=Corporate,DC=corp,DC=example,DC=com', 'CORP', 'rmensah',
   'rmensah@corp.example.com', NULL, 0, 0, '2024-05-13 10:44:21'),
  (5, '{3AB4F75D-3623-4519-A169-D6345C7D334C}', 'tkowalski', 'Teresa', 'Kowalski', 'teresa.kowalski@example.com',
   'EMP-09987', 2, 2, 'CN=Teresa Kowalski,OU=Facilities,DC=corp,DC=example,DC=com', 'CORP', 'tkowalski',
   'tkowalski@corp.example.com', NULL, 0, 1, '2022-08-30 07:55:00');

INSERT INTO devices (DeviceID, ObjectID, SerialNumber, DeviceType, IssueDate, ExpiryDate, Enabled, Status,
                     HIDLoopID, HIDFacilityCode, OwnerPersonID) VALUES
  (1, '{E0136D86-4423-4B70-B60D-632617530997}', '4F21A0C3D7', 'PIV', '2024-02-12 09:30:00',
   '2027-02-11 23:59:59', 1, 'Active', 204817, 117, 1),
  (2, '{1881ED1F-6416-4CFF-91A5-57B03FE208B4}', '4F21A0C3E2', 'PIV', '2023-06-01T14:05:09.250+01:00',
   '2026-05-31', 0, 'Disabled', 204902, 117, 2),
  (3, '{A2A3B932-F85A-42B7-99C9-65F347A1FF80}', 'VSC-8812-0043', 'Virtual Smart Card', '2024-09-03 11:42:17',
   '2025-09-03 11:42:17', 1, 'Active', NULL, NULL, 3),
  (4, '{916D5306-2184-4E9F-95AF-804DD62522EA}', '4F21A0C401', 'PIV', '2022-01-10 08:00:00',
   '2025-01-09 23:59:59', 0, 'Cancelled', 199340, 117, NULL);

INSERT INTO credential_profiles (ProfileID, ObjectID, Name) VALUES
  (1, '{1360EA63-7754-4246-9583-69600124AD3F}', 'PIV Standard'),
  (2, '{5C2B3532-A5EB-4827-8368-B221F5A107B3}', 'Contractor Badge');

INSERT INTO requests (RequestID, ObjectID, JobType, Status, PersonID, DeviceID, ProfileID, CreatedAt) VALUES
  (1001, '{4E403FDD-A073-4DB6-93D1-2E25E057EC96}', 'IssueCard', 'Awaiting Issue', 3, NULL, 1,
   '2025-03-04 09:15:27'),
  (1002, '{14B260F4-933D-4460-8FCC-54D0123DC364}', 'IssueCard', 'Completed', 1, 1, 1, '2024-02-10 16:48:03');

-- Contracts, roles and the recipient views (docs/rules.md). A person's
-- managers are the union of people.ManagerID (the organisational structure)
-- and the managers of the person's contracts valid today; deleted people are
-- nobody's manager and no role's member.
CREATE TABLE contracts (
  ContractID INTEGER PRIMARY KEY,
  PersonID   INTEGER NOT NULL REFERENCES people (PersonID),
  ManagerID  INTEGER NULL REFERENCES people (PersonID),
  Position   TEXT NULL,
  ValidFrom  TEXT NULL,                            -- SQLite date text; NULL: since ever
  ValidTill  TEXT NULL                             -- inclusive; NULL: open-ended
);

CREATE TABLE roles (
  RoleID INTEGER PRIMARY KEY,
  Name   TEXT NOT NULL UNIQUE
);

CREATE TABLE role_members (
  RoleID   INTEGER NOT NULL REFERENCES roles (RoleID),
  PersonID INTEGER NOT NULL REFERENCES people (PersonID),
  PRIMARY KEY (RoleID, PersonID)
);

-- One row per (person, manager): PersonID is the subordinate, the other
-- columns describe the manager.
CREATE VIEW vManagers AS
SELECT s.PersonID,
       m.PersonID AS ManagerID,
       m.Email AS ManagerEmail,
       m.FirstName || ' ' || m.Surname AS ManagerName
  FROM (SELECT PersonID, ManagerID FROM people WHERE ManagerID IS NOT NULL
        UNION
        SELECT PersonID, ManagerID FROM contracts
         WHERE ManagerID IS NOT NULL
           AND (ValidFrom IS NULL OR ValidFrom <= date('now'))
           AND (ValidTill IS NULL OR ValidTill >= date('now'))) s
  JOIN people m ON m.PersonID = s.ManagerID
 WHERE m.Deleted = 0;

CREATE VIEW vRoleMembers AS
SELECT r.RoleID,
       r.Name AS RoleName,
       p.PersonID,
       p.Email,
       p.FirstName || ' ' || p.Surname AS FullName
  FROM role_members rm
  JOIN roles r ON r.RoleID = rm.RoleID
  JOIN people p ON p.PersonID = rm.PersonID
 WHERE p.Deleted = 0;

-- Zoë reports to Owen (people.ManagerID) and, on her project contract, to
-- Hana; Rafael's second contract has ended; Owen's contract names Teresa,
-- who is deleted.
INSERT INTO contracts (ContractID, PersonID, ManagerID, Position, ValidFrom, ValidTill) VALUES
  (1, 3, 1, 'Access project', '2025-01-01', NULL),
  (2, 4, 1, 'Analyst', '2024-05-13', NULL),
  (3, 4, 3, 'Intern mentor', '2020-01-01', '2021-12-31'),
  (4, 2, 5, 'Shift lead', '2022-01-01', NULL);

INSERT INTO roles (RoleID, Name) VALUES
  (1, 'Administrators'),
  (2, 'Security'),
  (3, 'Auditors');

INSERT INTO role_members (RoleID, PersonID) VALUES
  (1, 1),
  (2, 1),
  (2, 4),
  (2, 5);

-- Sign-in accounts: when each password expires and when it was last used,
-- as ISO 8601 UTC text. Written relative to the day the demo is created, so
-- that the demo's schedules always find someone: Hana's password expires in
-- three days, Owen has not signed in for 120 days (his manager hears of it),
-- Zoë's password expires in two days (not this notice), and Rafael's account
-- is disabled (no notice at all).
CREATE TABLE accounts (
  PersonID          INTEGER PRIMARY KEY REFERENCES people (PersonID),
  PasswordExpiresAt TEXT NULL,
  LastLogonAt       TEXT NULL
);

CREATE VIEW vAccounts AS
SELECT a.PersonID,
       p.LogonName,
       p.FirstName || ' ' || p.Surname AS FullName,
       p.Email,
       p.Enabled,
       p.Deleted,
       a.PasswordExpiresAt,
       date(a.PasswordExpiresAt) AS PasswordExpiresOn,
       a.LastLogonAt,
       date(a.LastLogonAt) AS LastLogonOn
  FROM accounts a
  JOIN people p ON p.PersonID = a.PersonID;

INSERT INTO accounts (PersonID, PasswordExpiresAt, LastLogonAt) VALUES
  (1, strftime('%Y-%m-%dT12:00:00Z', 'now', '+3 days'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 days')),
  (2, strftime('%Y-%m-%dT12:00:00Z', 'now', '+40 days'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-120 days')),
  (3, strftime('%Y-%m-%dT12:00:00Z', 'now', '+2 days'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-3 days')),
  (4, strftime('%Y-%m-%dT12:00:00Z', 'now', '+3 days'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-200 days'));

COMMIT;
