-- A scripted database for tests/programs/run.sh: tables, 200,000 rows, indexes, joins, aggregates,
-- text functions, a rollback and a vacuum. Every result is deterministic.
CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, city INTEGER, born INTEGER, note TEXT);
CREATE TABLE cities(id INTEGER PRIMARY KEY, name TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO people SELECT i, 'person' || i, i % 97, 1900 + (i * 7919) % 120, printf('%0*d', 1 + i % 300, i) FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 96)
INSERT INTO cities SELECT i, 'city' || i FROM n;
CREATE INDEX people_city ON people(city, born);
SELECT count(*), sum(born), max(length(note)) FROM people;
SELECT c.name, count(*), avg(p.born) FROM people p JOIN cities c ON c.id = p.city GROUP BY c.id ORDER BY 2 DESC, 1 LIMIT 5;
SELECT born / 10 * 10 AS decade, count(*) FROM people GROUP BY decade ORDER BY decade;
BEGIN;
DELETE FROM people WHERE id % 3 = 0;
UPDATE people SET note = upper(note) || note WHERE id % 7 = 1;
SELECT count(*), sum(length(note)) FROM people;
ROLLBACK;
SELECT count(*), sum(length(note)) FROM people;
DELETE FROM people WHERE born > 1990;
VACUUM;
SELECT count(*), group_concat(name, ',') FROM (SELECT name FROM people WHERE city = 42 ORDER BY born, id LIMIT 20);
SELECT quote(substr(replace(note, '0', 'x'), 1, 40)) FROM people WHERE id IN (1, 299, 12345, 199999);
