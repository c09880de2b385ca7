# Dates as staff read them in the admin lists: short, with seconds and the zone (America/Sao_Paulo: -03).
DATETIME_FORMAT = "d/m/Y H:i:s T"
SHORT_DATETIME_FORMAT = "d/m/Y H:i:s T"
DATE_FORMAT = "d/m/Y"
